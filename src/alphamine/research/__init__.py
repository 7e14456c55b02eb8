"""Research quality: statistics that account for how many things were tried (PSR, DSR), sub-period
stability, market regimes, data freshness, the submission planner and the research summary.

Why a layer of its own: these rules sit between the simulator (which measures one alpha) and the
pipeline (which decides); they read stored results and PnL series and never the OS period's
performance when they decide."""
