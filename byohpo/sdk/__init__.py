"""For people coming from the SageMaker Python SDK.

- :mod:`byohpo.sdk.conversion`: an SDK ``Estimator`` (v2) or ``ModelTrainer`` (v3), its
  metric definitions and tags, read as byohpo's values (no SDK import needed);
- :mod:`byohpo.sdk.tuner`: :class:`~byohpo.sdk.tuner.HyperparameterTuner`, the SDK's tuner
  with byohpo behind it (``from byohpo import HyperparameterTuner`` is the switch);
- :mod:`byohpo.sdk.analytics`: its ``analytics().dataframe()``.

Nothing here is imported by ``import byohpo``; the tuner is imported when first named.
"""
