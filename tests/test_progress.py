"""Progress lines for `make figures`: kernel and workers append them to the runner's file."""
from rtdlib import progress


def test_bars_write_throttled_lines_to_the_runners_file(tmp_path, monkeypatch):
    log = tmp_path / "progress.log"
    monkeypatch.setenv("RTD_PROGRESS_LOG", str(log))
    assert list(progress.bar(range(3), desc="distill small_vgg seed 0")) == [0, 1, 2]
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("distill small_vgg seed 0: 3/3 (0m0")  # only the last: < EVERY s
    monkeypatch.setattr(progress, "EVERY", 0.0)
    list(progress.bar(iter(range(2)), desc="runs"))  # no length: counts without a total
    assert log.read_text().splitlines()[1:] == ["runs: 1 (0m00s)", "runs: 2 (0m00s)"]


def test_no_runner_no_lines_and_rtd_progress_0_silences_them(tmp_path, monkeypatch):
    monkeypatch.delenv("RTD_PROGRESS_LOG", raising=False)
    progress.line("nobody asked")  # no file named: nothing happens
    assert list(progress.bar([1, 2])) == [1, 2]
    monkeypatch.setenv("RTD_PROGRESS", "0")
    assert not progress.lines_enabled() and not progress.enabled()
    assert progress.elapsed(3725) == "1h02m05s" and progress.elapsed(65) == "1m05s"
