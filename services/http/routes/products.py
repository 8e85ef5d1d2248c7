"""Products: create, read, revise the vision and strategy, retire."""

from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from services.http.as_of import AsOf, version_at
from services.http.deps import Editor, ExpectedVersion, RuntimeDep, Viewer
from services.http.responses import reason, tagged, written
from services.http.schemas import Change, OutcomeOut, ProductIn, ProductOut, StrategyIn, VisionIn

router = APIRouter(prefix="/products", tags=["products"])


@router.post("", status_code=201, response_model=OutcomeOut)
def create_product(body: ProductIn, who: Editor, runtime: RuntimeDep) -> JSONResponse:
    outcome = runtime.app.create_product(actor=who.name, **body.model_dump())
    return written(runtime, outcome, f"/products/{outcome.id}")


@router.get("/{product_id}", response_model=ProductOut)
def get_product(product_id: UUID, who: Viewer, runtime: RuntimeDep,
                response: Response, as_of: AsOf = None) -> ProductOut:
    product = runtime.app.get_product(
        product_id, version_at(runtime, "product", product_id, as_of))
    tagged(response, product.version)
    return ProductOut.model_validate(product, from_attributes=True)


@router.post("/{product_id}/vision", response_model=OutcomeOut)
def revise_vision(product_id: UUID, body: VisionIn, who: Editor, runtime: RuntimeDep,
                  expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.revise_vision(product_id, body.vision, reason(who, body), expected)
    return written(runtime, outcome)


@router.post("/{product_id}/strategy", response_model=OutcomeOut)
def revise_strategy(product_id: UUID, body: StrategyIn, who: Editor, runtime: RuntimeDep,
                    expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.revise_strategy(product_id, body.strategy, reason(who, body),
                                          expected)
    return written(runtime, outcome)


@router.post("/{product_id}/retire", response_model=OutcomeOut)
def retire_product(product_id: UUID, body: Change, who: Editor, runtime: RuntimeDep,
                   expected: ExpectedVersion) -> JSONResponse:
    outcome = runtime.app.retire_product(product_id, reason(who, body), expected)
    return written(runtime, outcome)
