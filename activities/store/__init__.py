"""The database: its tables, the order and menu stores (also read by the API) and the saga's database steps."""
