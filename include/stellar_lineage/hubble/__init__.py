"""The BigQuery (Hubble) path: the batch query, its cost guard and the steps the operators call.

Modules: ``cost`` (pure decision arithmetic), ``query`` (dry run + job through the Google provider),
``results`` (rows → lineage, plus Horizon attributes), ``pipeline`` (the steps with the store).
"""
