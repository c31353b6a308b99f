"""Readers: a file format → arrays (CSV, IDX, image folders, PCM WAV, movies, the book's FFT
features). A reader knows nothing of data sets, splits or the data folder."""
