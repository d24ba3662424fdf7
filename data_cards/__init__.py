"""Dataset cards (Hugging Face card format) with statistics and plots, built from the data."""
