"""``python -m components``: Armful's offline commands."""
