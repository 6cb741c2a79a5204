# Two entry points for a fresh machine: `make run` and `make test`.
VENV  ?= .venv
PY    := $(VENV)/bin/python
RUN_STAMP  := $(VENV)/.quiz1-run
TEST_STAMP := $(VENV)/.quiz1-test

.PHONY: run test test-fresh setup setup-test screenshot clean

# Debian packages, as "what-must-exist:package" (a command on the PATH or a file). Running needs graphviz's `dot`
# (Q2's drawings), bubblewrap (the grader's sandbox) and a local MathJax (the built notebook's HTML typesets offline);
# the tests also render that HTML in a real browser.
DEBS_RUN  := dot:graphviz bwrap:bubblewrap /usr/share/javascript/mathjax/MathJax.js:libjs-mathjax
DEBS_TEST := chromium:chromium

# install the Debian packages named in $(1) that are missing (as root), or say which are missing
define debs
	@missing=""; for pair in $(1); do need=$${pair%%:*}; pkg=$${pair##*:}; \
	  case $$need in /*) test -e $$need ;; *) command -v $$need >/dev/null 2>&1 ;; esac || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing Debian package(s):$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else echo "missing Debian package(s):$$missing (not root, so not installing them)" >&2; fi; \
	fi
endef

setup: $(RUN_STAMP)
setup-test: $(TEST_STAMP)

$(RUN_STAMP): pyproject.toml
	$(call debs,$(DEBS_RUN))
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[grading]'
	touch $(RUN_STAMP)

$(TEST_STAMP): $(RUN_STAMP) pyproject.toml
	$(call debs,$(DEBS_TEST))
	$(PY) -m pip install -q -e '.[grading,test]'
	touch $(TEST_STAMP)

run: setup
	$(VENV)/bin/quiz1 build --force

# pytest-xdist, one worker per core, a test file per worker (the real-data build is shared by one file's tests);
# the files with whole builds start first (conftest), so neither runs alone at the end
test: setup-test
	$(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder

# the suite with an empty model cache: every trained stand-in is trained here, so no stale cache hides a test
# that holds for one machine's weights only
test-fresh: setup-test
	@d=$$(mktemp -d) && echo "QUIZ1_CACHE=$$d (empty)" && QUIZ1_CACHE=$$d $(PY) -m pytest -n auto --dist loadfile --no-loadscope-reorder; rc=$$?; rm -rf "$$d"; exit $$rc

# docs/q1.png, the README's picture: Question 1 of the built notebook's HTML, in headless Chromium
screenshot: setup-test
	test -f dist/A0000000X.zip || $(VENV)/bin/quiz1 build --force --quiet
	$(PY) docs/q1_screenshot.py dist/A0000000X.zip docs/q1.png

clean:
	rm -rf dist build .pytest_cache
