"""Prototypes of product changes, kept here to measure them; the product code is not edited."""
