"""Side effects of the saga: payments, messages, the database and the kitchen queue."""
