"""Bad-input audit (2026-12-06, a34c) of the less-used options: ``compare --record-floors``
onto an existing file of the wrong shape was a traceback after the whole run (malformed JSON
or non-UTF-8 text a message naming neither file nor option), ``--scheduler`` failures read as
an output failure, integer options quoted 5,000-digit values whole, ``compare --seed -1``
gave numpy's message and ``table --probe`` accepted an hour of lookups."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from fa2opt.cli import main
from fa2opt.compare import cli as compare_cli

from test_audit4_cli_options import _chain, _one_line

EXAMPLES = Path(__file__).parent / "data" / "spec_examples"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """A one-instance suite folder (the spec's chain example and its profile)."""
    folder = tmp_path / "suite"
    folder.mkdir()
    for name in ("chain.json", "resnet50_cpu.csv"):
        shutil.copy(EXAMPLES / name, folder / name)
    return folder


@pytest.fixture
def no_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison must be refused before any method runs."""
    def run_tasks(*args, **kwargs):
        raise AssertionError("the comparison ran before the option was refused")

    monkeypatch.setattr(compare_cli, "run_tasks", run_tasks)


def _compare(tmp_path: Path, suite: Path, *extra: str, methods: str = "fa2,fa2-grid-5ms") -> int:
    return main(["compare", "--suite", str(suite), "--methods", methods, "--reference", "fa2",
                 "--workers", "1", "--no-plots", "--no-progress", "--out", str(tmp_path / "o"),
                 *extra])


@pytest.mark.parametrize("content,reason", [
    (b"[1, 2]", "not an object (top level is list)"),
    (b'{"sets": []}', "sets: must be an object (of floors sets by name)"),
    (b'{"about": 1, "sets": {"full": 1}\n',
     "malformed JSON: Expecting ',' delimiter at line 2"),
    (b"\xff\xfe\x00{}", "not UTF-8 text (byte 0)"),
])
def test_a_bad_floors_file_is_refused_before_the_run(tmp_path, suite, no_run, capsys, content,
                                                    reason):
    floors = tmp_path / "floors.json"
    floors.write_bytes(content)
    assert _compare(tmp_path, suite, "--record-floors", str(floors)) == 2
    assert _one_line(capsys) == f"{floors}: --record-floors: {reason}"
    assert floors.read_bytes() == content


@pytest.mark.parametrize("path,reason", [
    ("", "'': --record-floors: empty path"),  # (type=Path made it '.')
    ("/proc/x.json", "/proc/x.json: --record-floors: cannot be written"),  # (root passed os.access)
])
def test_a_floors_file_that_cannot_be_written_is_refused_before_the_run(tmp_path, suite, no_run,
                                                                       capsys, path, reason):
    assert _compare(tmp_path, suite, "--record-floors", path) == 2
    assert _one_line(capsys).startswith(reason)


def test_record_floors_without_a_grid_method_is_refused_before_the_run(tmp_path, suite, no_run,
                                                                      capsys):
    assert _compare(tmp_path, suite, "--record-floors", str(tmp_path / "f.json"),
                    methods="fa2") == 2
    assert _one_line(capsys).startswith("--record-floors: no fa2-grid method to record floors")


def test_table_probe_is_bounded_to_seconds_of_lookups(tmp_path, capsys):
    from fa2opt.decision_table import MAX_PROBES

    assert MAX_PROBES == 10_000  # (about 4 s on a one-node chain; 10^7 was about an hour)
    out = tmp_path / "t.csv"
    assert main(["table", str(_chain(tmp_path)), "--rates", "10:50:20", "--out", str(out),
                 "--probe", "10001"]) == 2
    assert _one_line(capsys) == "--probe: must be an integer in [0, 10000] (got 10001)"
    assert not out.exists()


@pytest.mark.parametrize("address,reason", [
    ("::::", "invalid address '::::'; maybe: ipv6 needs brackets like [::1]"),
    ("tcp://127.0.0.1:1", "Timed out trying to connect to tcp://127.0.0.1:1 after 1 s"),
])
def test_a_scheduler_that_cannot_be_reached_is_named(tmp_path, suite, capsys, address, reason):
    pytest.importorskip("distributed")
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        assert _compare(tmp_path, suite, "--scheduler", address, methods="fa2") == 2
    # (an OSError naming no file read as "cannot write the output (...)")
    assert _one_line(capsys) == f"fa2opt compare: --scheduler {address}: cannot connect ({reason})"


HUGE = "9" * 5000  # an integer over Python's 4,300-digit int() limit


@pytest.mark.parametrize("argv", [
    ["generate", "--suite", "chain", "--count", HUGE, "--out", "{tmp}/g"],
    ["solve", "{chain}", "-m", "brute-force", "--max-combinations", HUGE],
    ["table", "{chain}", "--rates", "10", "--seed", "-" + HUGE, "--out", "{tmp}/t.csv"],
    ["compare", "--seed", HUGE, "--out", "{tmp}/c"],
    ["evaluate", "{chain}", "--trace", "{tmp}/t.csv", "--seed", HUGE],
])
def test_integer_options_quote_at_most_80_characters(tmp_path, capsys, argv):
    chain = _chain(tmp_path)
    argv = [a.format(tmp=tmp_path, chain=chain) for a in argv]
    with pytest.raises(SystemExit) as exc:  # (argparse refuses it: parser.error exits)
        main(argv)
    assert exc.value.code == 2
    line = _one_line(capsys)
    assert line.endswith("out of range (an integer of 5000 digits)") and len(line) < 120, line


def test_a_non_integer_option_is_quoted_short(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--suite", "chain", "--count", "x" * 5000, "--out", str(tmp_path / "g")])
    assert exc.value.code == 2
    line = _one_line(capsys)
    assert line.startswith("fa2opt generate: argument --count: not an integer (got 'xxx")
    assert len(line) < 160, line


@pytest.mark.parametrize("generated", [True, False])
def test_compare_refuses_a_negative_seed_naming_it(tmp_path, suite, no_run, capsys, generated):
    # (a generated suite gave numpy's 'expected non-negative integer'; a folder ran on)
    where = "generated:chain:2" if generated else str(suite)
    assert main(["compare", "--suite", where, "--seed", "-1", "--methods", "fa2", "--reference",
                 "fa2", "--no-plots", "--no-progress", "--out", str(tmp_path / "c")]) == 2
    assert _one_line(capsys) == "fa2opt compare: --seed must be an integer >= 0 (got -1)"


def test_a_profile_path_too_long_says_why(tmp_path, capsys):
    import json

    path = tmp_path / "long.json"
    path.write_text(json.dumps({"sla_ms": 500, "rate_rps": 80,
                                "nodes": [{"name": "a", "profile": "a" * 5000}]}))
    assert main(["validate", str(path)]) == 2
    line = _one_line(capsys)  # (was '... (OSError)')
    assert line.endswith(": cannot read profile file (File name too long)") and len(line) < 300


def test_a_repeated_profile_row_is_named_by_its_line(tmp_path, capsys):
    import json

    # (a blank line between: the CSV's rows 0 and 1 are its lines 2 and 4)
    (tmp_path / "p.csv").write_text("batch,hardware,units,latency_ms\n1,cpu,1,40\n\n1,cpu,1,41\n")
    path = tmp_path / "i.json"
    path.write_text(json.dumps({"sla_ms": 500, "rate_rps": 80,
                                "nodes": [{"name": "a", "profile": "p.csv"}]}))
    assert main(["validate", str(path)]) == 2
    assert _one_line(capsys) == (f"{path}: nodes[a].profile (p.csv): line 4: same identity as "
                                 f"line 2 (batch=1, hardware='cpu', units=1, variant=None)")


def test_generate_force_names_a_folder_in_the_way(tmp_path, capsys):
    (tmp_path / "g" / "manifest.csv").mkdir(parents=True)
    (tmp_path / "g" / "0000-chain.json").write_text("{}")
    assert main(["generate", "--suite", "chain", "--count", "2", "--out", str(tmp_path / "g"),
                 "--force"]) == 2
    assert _one_line(capsys) == (f"{tmp_path / 'g' / 'manifest.csv'}: --out: exists and is not "
                                 f"a file (generate writes this name)")
    assert (tmp_path / "g" / "0000-chain.json").read_text() == "{}"  # nothing deleted


@pytest.mark.parametrize("old,new,expected", [
    ("184.0,184.0", "-1.5,184.0", "row 1.cost: must be >= 0 (got '-1.5'; "),
    (",0.2,", ",-0.2,", "row 1.solve_ms: must be >= 0 (got '-0.2'; "),
    ("True,ok", "True,weird",
     "row 1.check: not what a verified row's check says ('ok') (got 'weird'; "),
    ("ok,,,", "ok,,{bad json,",
     "row 1.breakdown_ms: not a JSON object of milliseconds (got '{bad json'; "),
])
def test_compare_refuses_resumed_rows_no_run_writes(tmp_path, suite, no_run, capsys, old, new,
                                                    expected):
    from test_audit5_evaluate_flags import _HEADER, _ROW

    assert old in _ROW
    out = tmp_path / "o"
    out.mkdir()
    (out / "instances.csv").write_text(_HEADER + _ROW.replace(old, new))
    assert _compare(tmp_path, suite, "--resume-any", methods="fa2") == 2
    assert _one_line(capsys).startswith(f"{out / 'instances.csv'}: {expected}")


def test_a_pipeline_swept_past_the_replica_bound_is_named(tmp_path, suite, no_run, capsys):
    datasets = tmp_path / "ds"
    shutil.copytree(suite, datasets / "pipelines")
    (datasets / "traces").mkdir()
    (datasets / "traces" / "huge.csv").write_text("second,rps_raw,rps\n0,1e300,1\n1,1e300,1\n")
    assert _compare(tmp_path, "pipelines", "--datasets", str(datasets), methods="fa2") == 2
    line = _one_line(capsys)  # (was the bound alone, naming no file, once solving)
    assert line.startswith(f"{datasets / 'pipelines' / 'chain.json'} at huge-p5 of "
                           f"{datasets / 'traces'}: nodes[detector]: the row batch=1"), line


def test_evaluate_names_the_instance_and_flags_behind_a_replica_bound(tmp_path, capsys):
    trace = tmp_path / "t.csv"
    trace.write_text("second,rps\n" + "".join(f"{s},20\n" for s in range(30)))
    assert main(["evaluate", str(_chain(tmp_path)), "--trace", str(trace), "-m", "greedy",
                 "--no-progress", "--headroom", "1e300"]) == 2
    line = _one_line(capsys)
    assert line.startswith(f"fa2opt evaluate: greedy: {tmp_path / 'c.json'}: a profile row "
                           f"would need "), line
    assert line.endswith("(a forecast rate: the traces' rates times --rate-scale, times "
                         "1 + --headroom)"), line


@pytest.mark.parametrize("argv", [
    ["solve", "{chain}", "--time-limit", "x" * 5000],
    ["table", "{chain}", "--rates", "10", "--grid-ms", "x" * 5000, "--out", "{tmp}/t.csv"],
    ["compare", "--method-timeout", "x" * 5000, "--out", "{tmp}/c"],
    ["evaluate", "{chain}", "--trace", "{tmp}/t.csv", "--headroom", "x" * 5000],
])
def test_number_options_quote_at_most_80_characters(tmp_path, capsys, argv):
    chain = _chain(tmp_path)
    with pytest.raises(SystemExit) as exc:
        main([a.format(tmp=tmp_path, chain=chain) for a in argv])
    assert exc.value.code == 2
    line = _one_line(capsys)  # (argparse's 'invalid float value' quoted all 5,000)
    assert ": not a number (got 'xxx" in line and len(line) < 160, line
