"""Re-run a method on a benchmark and check the result against the catalog (`vpeft reproduce`, `tools/reproduce`).

Modules: `layout` (VTAB-1k folders and the data checker), `recipe` (catalog recipe -> per-task settings), `data`
(datasets and transforms), `backbone` (timm model and local weights), `train` (one training phase), `selection`
(model-selection rules), `compare` (aggregates and published numbers), `record` (the JSON run record),
`checkpoints` (resume), `smoke` (tiny data and model), `plan` (dry run), `runner` (puts it together).
"""
