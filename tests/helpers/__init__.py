"""Test helpers shared by several test folders (images, signed requests, fault and secret checks)."""
