"""Distilling the vehicle detector from a teacher onto real traffic footage, without a hand label."""
