"""adapters/text"""
