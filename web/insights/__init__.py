"""Insights: MTTA, MTTR and open incidents over a window, as server-drawn charts."""
