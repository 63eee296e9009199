"""Real rendering: pull each pinned chart, render it with Helm's own engine and exactly the planned
values, and prove placement on every pod template it produces (design §5), hooks and subcharts included.

``helm`` is the only module that touches Helm (through the optional ``helm-python-sdk``, imported lazily);
``pod_templates`` and ``findings`` are pure; ``command`` joins them for ``plan --render``.
"""
