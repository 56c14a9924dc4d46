"""entrypoints/web"""
