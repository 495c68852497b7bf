"""Compile a model's engine into numba's disk cache, in a process of its own.

Started by :mod:`il21pk.engine.startup` after a model's first small batch ran
interpreted: ``python -m il21pk.engine.compile_job JOB``, where ``JOB`` is a
pickled dict (removed once read) of the generated module's name and file and
the numba types of that batch's arguments, the signature to compile. The
module is imported as the parent imported it and its engine built the same
way, so the machine code lands where the parent's next batch looks for it.
An error ends the process with status 1 and ``Type: first line of the
message`` as the last line of its standard error, which the parent reports.
"""

from __future__ import annotations

import os
import pickle
import sys
import warnings


def main(job_path: str) -> None:
    with open(job_path, "rb") as handle:
        job = pickle.load(handle)
    os.remove(job_path)
    warnings.simplefilter("ignore")  # nobody reads them; errors are in the exit status

    import numba

    from ..codegen.build import import_generated
    from . import bdf, startup

    module = import_generated(job["module"], job["file"])
    dispatcher, extra = startup.batch_dispatcher(bdf.specialise(module))
    dispatcher.compile((*job["types"], *(numba.typeof(a) for a in extra)))


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as error:  # the parent reports the last line of stderr
        first = str(error).strip().splitlines()
        print(f"{type(error).__name__}: {first[0] if first else ''}", file=sys.stderr)
        sys.exit(1)
