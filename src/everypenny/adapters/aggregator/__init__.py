"""Carrier-billing SMS aggregators behind the service layer's AggregatorGateway port: Fonix (fonix.py)."""
