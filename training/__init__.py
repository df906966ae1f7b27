"""The distillation library: CQA data, teacher generation, student training, inference and metrics.

Django-free by design: the web app and the CLI (`python -m training ...`) call the same functions.
"""
