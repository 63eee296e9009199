"""``python -m armful``: Armful's offline commands."""
