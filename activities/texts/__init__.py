"""Texts to customers: the port, its adapters (Twilio, the console) and the activity that uses it."""
