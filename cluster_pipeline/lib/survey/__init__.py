"""What the survey is: its data contracts (model), template versions, the changes between
them and how values are normalised. Below every area: ingest reads files by these
definitions, contracts validate rows against them."""
