"""entrypoints/api"""
