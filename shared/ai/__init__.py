"""The LLM ensemble: providers behind one interface, weighted aggregation, cost log, cache and calibration.

Import what you need from its modules (``shared.ai.ensemble``, ``shared.ai.calibration``); this package init
stays empty so that importing the calibration functions does not load the LLM SDKs.
"""
