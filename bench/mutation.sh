#!/bin/sh
# Mutation testing of the core rules with mutmut (configured in pyproject.toml [tool.mutmut]); by hand
# only, never in the test suite. bench/README.md "Mutation score" records the result.
#   sh bench/mutation.sh            # mutate, run the rule tests against every mutant, print the tally
#   .venv/bin/mutmut show NAME      # the diff of one mutant
# mutmut keeps its working copy and results in mutants/ (ignored by git). It re-runs every mutant it is
# named, so a second run of this script re-tests them all; to finish an interrupted run name only the
# unchecked ones: `.venv/bin/mutmut run $(.venv/bin/python bench/mutation_tally.py --unchecked GLOBS)`.
# mutmut picks each mutant's tests from a map it records once (mutants/mutmut-stats.json) and extends
# only for new test names: after tests or the mutated functions' callers change, delete that file, or a
# mutant can "survive" tests that were never run against it. The rules: intervals, bootstrap, underpowered and the denominator policies
# (statistics), conformance's categories and attempt numbers, the re-run rule (episode outcomes), the
# packet's cell sums (and their per-task groups for the bootstrap), cells, policies and aggregates, and
# the exact tests of the detectors.
set -e
cd "$(dirname "$0")/.."
set -- \
    'worldflux_nb.core.statistics.*' \
    'worldflux_nb.core.episode_outcomes.*' \
    'worldflux_nb.core.exact_tests.*' \
    'worldflux_nb.core.conformance_frames.x_episode_success__*' \
    'worldflux_nb.core.conformance_frames.x_episodes_frame__*' \
    'worldflux_nb.core.conformance.x__check_conformance__*' \
    'worldflux_nb.core.conformance.x_attempt_numbers__*' \
    'worldflux_nb.core.packet.x_cell_sums__*' \
    'worldflux_nb.core.packet.x_cell_indicators__*' \
    'worldflux_nb.core.packet.x_bootstraps__*' \
    'worldflux_nb.core.packet.x_cell_results__*' \
    'worldflux_nb.core.packet.x_policy_results__*' \
    'worldflux_nb.core.packet.x_aggregates__*' \
    'worldflux_nb.core.packet.x__intervals__*'
nice -n 15 .venv/bin/mutmut run --max-children "${WORKERS:-2}" "$@"
.venv/bin/python bench/mutation_tally.py "$@"
