"""Write ``exported.parquet``: the history export the fake W&B server serves for its
``exported`` run (see ``tests/cloud_fake.py``: ``exported_run``).

W&B exports a run's history to parquet files; wandb 0.31's ``scan_history`` downloads them
(``RunParquetHistory.parquetUrls``) and reads the rows logged since from the GraphQL history
(``HistoryPage``). The file is kept in the repository so the tests need no parquet writer;
regenerate it with pyarrow (not a runwise dependency) after changing ``EXPORTED_*``:

    pip install --target /tmp/pa pyarrow
    PYTHONPATH=/tmp/pa python tests/data/cloud/make_parquet.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from cloud_fake import EXPORTED_ROWS, exported_history  # noqa: E402


def main() -> None:
    rows = exported_history()[:EXPORTED_ROWS]
    keys: list[str] = []
    for row in rows:
        keys.extend(k for k, v in row.items() if k not in keys and not isinstance(v, dict))
    columns = {k: pa.array([r.get(k) for r in rows], type=pa.int64() if k == "_step" else pa.float64())
               for k in keys}
    pq.write_table(pa.table(columns), HERE / "exported.parquet")


if __name__ == "__main__":
    main()
