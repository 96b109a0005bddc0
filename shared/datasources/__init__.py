"""Weather data sources: forecasts (Open-Meteo GFS ensemble) and official observations (NWS CLI reports)."""
