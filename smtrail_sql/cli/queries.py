"""Commands over the template catalog: queries, show, render, create-table --print."""
