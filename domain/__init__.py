"""The pizzeria's rules: menu, pricing, the order and its status machine. Pure Python."""
