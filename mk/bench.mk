# Benchmarks (included by the main Makefile, which defines VENV, PY and STAMP; $(STAMP) also
# installs benchmarks/requirements.txt, since CI runs the quick mode).
# The harness measures; it asserts nothing about time. See benchmarks/README.md.
BENCH_RUN := PYTHONPATH=src:. $(PY) -m benchmarks

.PHONY: bench bench-quick bench-summary bench-profile

bench: $(STAMP) ## full benchmark (a few minutes): table, benchmarks/results/latest.json, chart
	$(BENCH_RUN).harness

bench-quick: $(STAMP) ## benchmark in quick mode (CI size, well under a minute)
	$(BENCH_RUN).harness --quick

bench-summary: $(STAMP) ## full benchmark, and write the committed summary benchmarks/results.md
	$(BENCH_RUN).harness --summary benchmarks/results.md

bench-profile: $(STAMP) ## where the time goes: pyinstrument profiles of the core and the handler
	$(BENCH_RUN).profile_hot_paths
