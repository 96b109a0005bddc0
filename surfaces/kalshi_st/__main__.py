from surfaces.runner import main_for

main_for("kalshi_st")
