"""Armful's pure core: stack config in, plan out. Nothing here imports Pulumi or talks to a cloud."""
