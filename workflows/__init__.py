"""The order saga as a Temporal workflow, and the names and models it shares with the API."""
