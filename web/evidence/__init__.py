"""Evidence pages: upload (streamed), the live list fragment, downloads, legal hold, retry."""
