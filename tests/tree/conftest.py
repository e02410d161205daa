import pandas as pd
import pytest
from ht_data import load_elec2


@pytest.fixture(scope="session")
def elec2() -> pd.DataFrame:
    return load_elec2()
