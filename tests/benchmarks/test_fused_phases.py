"""The fused diagnostic benchmark: phases per group, and the timed run it compares versions with."""

from __future__ import annotations

import math

from benchmarks.fused import configurations
from benchmarks.fused_phases import main, phases


def test_every_group_of_the_batch_gets_its_phases_timed() -> None:
    configs = configurations(4)
    rows = phases(configs, epochs=1)
    assert sum(r["members"] for r in rows) == len(configs)
    assert {r["batch"] for r in rows} == {c["batch_size"] for c in configs}
    for r in rows:
        assert all(math.isfinite(r[k]) and r[k] > 0 for k in ("build", "trace", "first", "epoch", "eval")), r
        assert r["nodes"] > 100, r  # the epoch graph with its while-loop body


def test_the_timed_run_trains_the_queued_configurations(capsys) -> None:
    assert main(["--run", "--trials", "2", "--epochs", "1", "--fuse", "2"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("tunekit from ") and "2 configurations x 1 epochs, fuse=2: " in line, line
    assert float(line.rsplit(" ", 2)[-2]) > 0, line


def test_every_group_is_timed_with_and_without_xla(capsys) -> None:
    assert main(["--xla", "--trials", "1", "--epochs", "1", "--rows", "200"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].endswith("1 configurations x 1 epochs on 200 generated rows, 1 groups"), out
    members, batch, later, compiled, traced, ratio, auto = (c.strip() for c in out[3].strip("|").split("|"))
    assert members == "1" and batch in ("32", "64", "128") and later == "0" and auto == "no", out  # 1 epoch: none to pay
    assert float(compiled) > 0 and float(traced) > 0 and ratio.endswith("x"), out
    # the ratio is of the unrounded seconds: within what rounding both to 0.01 s can move it
    slack = 0.005 + 0.005 * (1 + float(traced) / float(compiled)) / (float(compiled) - 0.005)
    assert abs(float(ratio[:-1]) - float(traced) / float(compiled)) <= slack + 1e-9, out
    assert out[-1].startswith("sum: XLA ") and out[-1].endswith("x)"), out


def test_each_group_s_epoch_is_set_beside_its_bare_arithmetic(capsys) -> None:
    assert main(["--floor", "--trials", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert " configurations, " in out[0] and out[0].endswith(" GFLOPS") and float(out[0].split()[-2]) > 0, out
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in out[3:-1]]
    assert sum(int(r[0]) for r in rows) == 2, out
    for members, batch, widths, epoch, bare, padded, own, at_speed in rows:
        assert float(epoch) > 0 and float(bare) > 0, out
        assert float(padded) >= float(own) > 0, out  # padding only adds arithmetic
    assert out[-1].startswith("sum: later epoch ") and "bare einsum" in out[-1], out


def test_the_phases_with_one_grappler_pass_say_so(capsys) -> None:
    assert main(["--grappler-once", "--trials", "1", "--epochs", "1"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[0].endswith("1 configurations x 1 epochs, 1 groups, one Grappler pass"), out
    assert out[-1].startswith("sum: build "), out
