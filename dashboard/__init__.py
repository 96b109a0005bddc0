"""st-dashboard: the operator UI and API, and the subscriber feed, served by one FastAPI app on uvicorn."""
