"""Command lines: every command's argument parsing, error printing and exit
status (the ``scripts/`` files only call ``main`` here). ``train``
(``train_purejaxrl.py``, curricula included), ``sweep``, ``validate``,
``compare``, ``watch``, ``bench``, ``config_table``."""
