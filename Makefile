# Every target creates or reuses .venv by itself; nothing needs to be typed first.
PROFILE ?= quick
DRY_RUN ?=
ONLY ?=
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.rtdlib-installed
KERNEL := rtdlib
FASHION := data/debian/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz
# this checkout's rtdlib wins over any other install (e.g. a git worktree sharing a venv)
export PYTHONPATH := $(CURDIR)$(if $(PYTHONPATH),:$(PYTHONPATH))
export RTD_DATA ?= $(CURDIR)/data
export RTD_RESULTS ?= $(CURDIR)/results

# make variables are case-sensitive: `make figures profile=paper` would silently run PROFILE's default
SPELLINGS := profile:PROFILE dry_run:DRY_RUN only:ONLY executor:EXECUTOR force:FORCE level:LEVEL claim:CLAIM cheapest:CHEAPEST calibrate:CALIBRATE module:MODULE again:AGAIN test_workers:TEST_WORKERS
MISCASED := $(subst :, ,$(firstword $(foreach s,$(SPELLINGS),$(if $(filter command line,$(origin $(firstword $(subst :, ,$(s))))),$(s)))))
ifneq ($(MISCASED),)
$(error unknown variable '$(word 1,$(MISCASED))'; did you mean $(word 2,$(MISCASED))=$($(word 1,$(MISCASED)))? (make variables are upper case))
endif
ifeq ($(filter $(PROFILE),smoke quick paper paper-trial),)
$(error unknown PROFILE '$(PROFILE)'; allowed: smoke quick paper paper-trial)
endif
EXECUTOR ?= local
ifeq ($(filter $(EXECUTOR),local slurm),)
$(error unknown EXECUTOR '$(EXECUTOR)'; allowed: local slurm)
endif
export RTD_EXECUTOR := $(EXECUTOR)
ifneq ($(filter-out 0 1,$(DRY_RUN)),)
$(error unknown DRY_RUN '$(DRY_RUN)'; allowed: 1 (print the plan), 0 or empty)
endif
ifneq ($(filter-out 0 1,$(CALIBRATE)),)
$(error unknown CALIBRATE '$(CALIBRATE)'; allowed: 1 (with DRY_RUN=1: time steps on this machine's device), 0 or empty)
endif
ifneq ($(filter-out 0 1,$(FORCE)),)
$(error unknown FORCE '$(FORCE)'; allowed: 1 (re-execute up-to-date notebooks), 0 or empty)
endif
ifneq ($(filter-out 0 1,$(CHEAPEST)),)
$(error unknown CHEAPEST '$(CHEAPEST)'; allowed: 1 (verify the cheapest published entry), 0 or empty)
endif
N ?= 3
TEST_WORKERS ?= auto
ifneq ($(TEST_WORKERS),auto)
ifeq ($(shell echo '$(TEST_WORKERS)' | grep -Ex '[1-9][0-9]*'),)
$(error unknown TEST_WORKERS '$(TEST_WORKERS)'; allowed: auto (one per core) or a positive number)
endif
endif
SEED ?=
LEVEL ?= auto
ifeq ($(filter $(LEVEL),auto exact tolerance),)
$(error unknown LEVEL '$(LEVEL)'; allowed: auto (bit for bit on the publisher's hardware, else within tolerance), exact, tolerance)
endif
CLAIM ?=

.PHONY: help venv figures reproduce verify test mutate bench lab report data clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 10

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (rtdlib)" >/dev/null
	touch $@

venv: $(STAMP)  ## create or update .venv and register its Jupyter kernel

figures: $(STAMP)  ## run every notebook (PROFILE=smoke|quick|paper|paper-trial, DRY_RUN=1 [CALIBRATE=1], ONLY="01_... 02_...", EXECUTOR=local|slurm, FORCE=1)
ifneq ($(DRY_RUN),1)
	@if [ "$(PROFILE)" = quick ]; then $(MAKE) --no-print-directory data; fi
	$(PY) -m rtdlib figures --profile $(PROFILE) $(if $(ONLY),--only $(ONLY)) $(if $(filter 1,$(FORCE)),--force)
else
	$(PY) -m rtdlib figures --profile $(PROFILE) --dry-run $(if $(ONLY),--only $(ONLY)) $(if $(filter 1,$(CALIBRATE)),--calibrate)
endif

reproduce: $(STAMP)  ## recompute every figure, ignoring published/ (entries already in results/ are reused)
	@if [ "$(PROFILE)" = quick ]; then $(MAKE) --no-print-directory data; fi
	RTD_PUBLISHED= $(PY) -m rtdlib figures --profile $(PROFILE) --force $(if $(ONLY),--only $(ONLY))

verify: $(STAMP)  ## recompute N=3 random published entries (SEED=..., CHEAPEST=1, LEVEL=auto|exact|tolerance) or one claim (CLAIM=id|cheapest)
	@if [ "$(PROFILE)" = quick ] && [ -d published/quick ]; then $(MAKE) --no-print-directory data; fi
	$(PY) -m rtdlib verify --profile $(PROFILE) $(if $(CLAIM),--claim $(CLAIM),-n $(N) $(if $(SEED),--seed $(SEED)) $(if $(filter 1,$(CHEAPEST)),--cheapest) --level $(LEVEL))

test: $(STAMP)  ## run the test suite (one pytest worker per core; TEST_WORKERS=1 for one process)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup

mutate: $(STAMP)  ## mutation-test one module against its own tests (MODULE=rtdlib/probe.py, AGAIN=1; docs/testing.md)
	$(PY) tools/mutate.py $(MODULE) $(if $(filter 1,$(AGAIN)),--again)

bench: $(STAMP)  ## write bench/results.md (speed and memory, measured side by side)
	@$(MAKE) --no-print-directory data
	$(PY) -m bench

lab: $(STAMP)  ## open JupyterLab on notebooks/index.py (.py notebooks open as notebooks; settings in jupyter/)
	JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH)) \
	  $(PY) -m jupyter lab $(if $(filter root,$(shell whoami)),--allow-root)

report: $(STAMP)  ## rebuild report/<PROFILE>/ from the executed notebooks in build/ (runs nothing)
	$(PY) -m rtdlib report --profile $(PROFILE)

data: $(STAMP)  ## fetch every dataset PROFILE reads (quick: Fashion-MNIST; paper: CIFAR-10/100, STL-10, Tiny ImageNet)
	$(PY) -m rtdlib data fetch $(PROFILE)

clean:  ## remove built notebooks and cached results (keeps .venv, data and figures)
	rm -rf build results .pytest_cache
