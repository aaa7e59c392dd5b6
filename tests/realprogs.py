#!/usr/bin/env python3
"""placeholder: being written"""
print("0 passed, 0 failed")
