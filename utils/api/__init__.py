"""The Volcengine API client: signing, credentials, HTTP with deadlines and retries, the concurrency bound, errors."""
