# Two entry points for a fresh machine: `make run` and `make test`.
VENV  ?= .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.quiz1-installed

.PHONY: run test test-fresh setup clean

setup: $(STAMP)

# Debian packages the project needs: graphviz's `dot` (Q2's drawings) and bubblewrap (the grader's sandbox)
DEBS := dot:graphviz bwrap:bubblewrap

$(STAMP): pyproject.toml
	@missing=""; for pair in $(DEBS); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; \
	  else echo "missing Debian package(s):$$missing (not root, so not installing them)" >&2; fi; \
	fi
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

run: setup
	$(VENV)/bin/quiz1 build --force

test: setup
	$(PY) -m pytest

# the suite with an empty model cache: every trained stand-in is trained here, so no stale cache hides a test
# that holds for one machine's weights only
test-fresh: setup
	@d=$$(mktemp -d) && echo "QUIZ1_CACHE=$$d (empty)" && QUIZ1_CACHE=$$d $(PY) -m pytest; rc=$$?; rm -rf "$$d"; exit $$rc

clean:
	rm -rf dist build .pytest_cache
