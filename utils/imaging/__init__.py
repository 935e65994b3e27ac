"""Imaging: tensor/array sanitising and API-fitted encoding, masks, crop regions and bit-exact paste-back."""
