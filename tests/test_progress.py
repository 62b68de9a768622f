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


def test_lines_give_an_eta_from_the_pace_so_far(tmp_path, monkeypatch):
    log = tmp_path / "progress.log"
    monkeypatch.setenv("RTD_PROGRESS_LOG", str(log))
    clock = iter([0.0, 30.0, 90.0, 120.0])  # the counter's start, then one reading per call
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    count = progress.Counter("distill runs", 4)
    for done in (1, 3, 4):
        count(done)
    assert log.read_text().splitlines() == ["distill runs: 1/4 (0m30s, ~1m30s left)",  # 30 s per run, 3 to go
                                            "distill runs: 3/4 (1m30s, ~0m30s left)",
                                            "distill runs: 4/4 (2m00s)"]


def test_the_estimate_before_a_run_counts_what_the_store_holds(tmp_path, monkeypatch):
    import json

    from rtdlib import plan
    from rtdlib.config import canonical_json, setting_of, to_dict
    from rtdlib.profiles import settings
    from rtdlib.sweeps import student_vs_teacher
    P = settings("01_student_vs_teacher", "quick")
    cfgs = student_vs_teacher(P)
    have = cfgs[:3]
    # the store recorded 100 s for the first run: a missing seed of its setting is priced at that, shared by the
    # two workers that run side by side
    monkeypatch.setenv("RTD_WORKERS", "2")
    (tmp_path / "distill" / "h").mkdir(parents=True)
    (tmp_path / "distill" / "h" / "meta.json").write_text(json.dumps(
        {"kind": "distill", "config_json": canonical_json(to_dict(cfgs[0])), "wall_time_s": 100.0}))

    class Held:  # a store holding the first three runs
        root, layers = tmp_path, []

        def get(self, kind, cfg):
            return cfg in have

    def same_setting(c):
        return setting_of(json.loads(canonical_json(to_dict(c)))) == setting_of(json.loads(canonical_json(to_dict(cfgs[0]))))

    siblings = [c for c in cfgs[3:] if same_setting(c)]
    assert len(siblings) == 2  # seeds 3 and 4 of the first architecture
    secs = 100.0 * 2 / 2 + sum(plan.estimate_seconds("distill", c) for c in cfgs[3:] if not same_setting(c))
    assert plan.store_status("01_student_vs_teacher", P, Held()) == (3, 10, secs, 2)
    assert plan.estimate("01_student_vs_teacher", P, Held()) == (
        f"10 runs, {plan.duration(secs)} for the 7 the store lacks (2 from the wall times recorded for their "
        f"settings' other seeds, 5 from a rough 2-core CPU cost model); the store has 3")
    have = cfgs
    assert plan.estimate("01_student_vs_teacher", P, Held()) == "10 runs, all in the store: redrawing only"
    assert [plan.duration(s) for s in (0.42, 45, 2280, 7200)] == ["~0.4 s", "~45 s", "~38 min", "~2.0 h"]
