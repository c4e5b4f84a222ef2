import { Body, Controller, Param, Patch } from '@nestjs/common';
import { Audited } from '../../src';

/** An audited `PATCH /orders/:id` that echoes the note it is sent: one event per call. */
@Controller('orders')
export class NoteOrdersController {
  @Patch(':id')
  @Audited('order')
  update(@Param('id') id: string, @Body() body: { note?: string }): { id: string; note?: string } {
    return { id, note: body.note };
  }
}
