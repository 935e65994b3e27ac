"""Plain Python, no ComfyUI imports: signing, credentials, HTTP client, image codec, masks, regions, stand-in server."""
