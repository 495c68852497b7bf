"""``il21pk simulate``: the schedule options mean what they say."""

from __future__ import annotations

import pytest

from il21pk.cli import main


@pytest.mark.parametrize("argv,flag", [
    (["--every", "12", "--count", "3"], "--every"),  # the default schedule is 5on9off
    (["--schedule", "single", "--cycles", "4"], "--cycles"),
    (["--schedule", "repeat", "--cycles", "4"], "--cycles"),
])
def test_schedule_options_that_do_not_apply_are_refused(tmp_path, capsys, argv, flag):
    # they were ignored: --every 12 --count 3 wrote the 5on9off run, byte for byte
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--model", "pk", "--t-end", "48", "--out", str(out), *argv]) == 2
    err = capsys.readouterr().err
    assert f"{flag} does not apply to --schedule" in err and err.count("\n") == 1


def test_doses_after_t_end_are_said_not_given(tmp_path, capsys):
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--model", "pk", "--schedule", "weekly", "--cycles", "8",
                 "--t-end", "24", "--out", str(out)]) == 0
    assert "8 doses (7 of them after --t-end 24, not given)" in capsys.readouterr().out
