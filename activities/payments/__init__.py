"""Card payments: the port, its adapters (Stripe, an in-process fake) and the activities that use it."""
