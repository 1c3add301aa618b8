"""arena-rank, LMArena's published ranking library, on a battles file, run the way its README runs it.

Run:  python bench/arena_rank_run.py FILE.jsonl   (in an environment with arena-rank and pandas:
      `make bench` installs the `bench` extra)

pandas.read_json(lines=True) -> PairDataset.from_pandas -> BradleyTerry(n_competitors).
compute_ratings_and_cis(dataset, significance_level=0.05), whose default intervals are the sandwich
ones. Its bootstrap intervals are not run: their multiprocessing.Pool forks after JAX has started
its threads, and the run hung (see bench/RESULTS.md). Prints {"models", "ratings", "lower", "upper"}
as JSON on stdout and the phase times on stderr; ratings_bench.py times the whole process.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np


def main() -> None:
    path = sys.argv[1]
    start = time.perf_counter()
    import pandas as pd
    from arena_rank.models.bradley_terry import BradleyTerry
    from arena_rank.utils.data_utils import PairDataset

    imported = time.perf_counter()
    frame = pd.read_json(path, lines=True)
    read = time.perf_counter()
    dataset = PairDataset.from_pandas(frame)
    prepared = time.perf_counter()
    model = BradleyTerry(n_competitors=len(dataset.competitors))
    results = model.compute_ratings_and_cis(dataset, significance_level=0.05)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "models": list(results["competitors"]),
                "ratings": np.asarray(results["ratings"]).tolist(),
                "lower": np.asarray(results["rating_lower"]).tolist(),
                "upper": np.asarray(results["rating_upper"]).tolist(),
            }
        )
    )
    print(
        f"imports {imported - start:.2f} s, read_json {read - imported:.2f} s, "
        f"PairDataset {prepared - read:.2f} s, fit + sandwich intervals {done - prepared:.2f} s",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
