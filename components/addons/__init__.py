"""Ecosystem add-ons: one module per add-on declaring its chart, images and values keys as data.

Placement is not decided here: ``armful.placement.values`` applies the rules of design §3 to the
workloads each module declares.
"""
