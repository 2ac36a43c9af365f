# What `cmake --graphviz` draws (scripts/architecture-graph): our libraries and programs,
# not the system libraries, tests, benchmarks or fuzzers.
set(GRAPHVIZ_EXTERNAL_LIBS FALSE)
set(GRAPHVIZ_GENERATE_PER_TARGET FALSE)
set(GRAPHVIZ_GENERATE_DEPENDERS FALSE)
set(GRAPHVIZ_IGNORE_TARGETS "unit_tests;.*_integration_tests;drill_stack_tests;medgate_test_support;.*_bench;fuzz_.*;medgate_boost")
set(GRAPHVIZ_GRAPH_NAME "medgate")
